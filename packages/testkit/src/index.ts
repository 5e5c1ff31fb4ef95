/** Pairwise precision, recall and F1 of a clustering against the truth. */
export * as Accuracy from "./Accuracy.js"
/** Loaders for the labelled record-linkage data sets (Febrl, Splink), given their folder. */
export * as Datasets from "./Datasets.js"
