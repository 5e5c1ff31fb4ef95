/** Pairwise precision, recall and F1 of a clustering against the truth. */
export * as Accuracy from "./Accuracy.js"
/** Loaders for the labelled record-linkage data sets (Febrl, Splink), given their folder. */
export * as Datasets from "./Datasets.js"
/** A seeded generator of multi-source customer records with realistic corruption, and their truth. */
export * as Synthetic from "./Synthetic.js"
