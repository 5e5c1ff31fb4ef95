/**
 * Describe results: `GET /sobjects` (describeGlobal), `GET /sobjects/{T}` (basic info) and
 * `GET /sobjects/{T}/describe`. Minimal but truthful: jsforce only needs `fields[].name` (to expand
 * `find()` without a field list, or `retrieve()` of several ids without `fields`); the rest
 * mirrors the properties the emulator enforces.
 */
import { picklistAllows, type FieldDef, type ObjectDef, type Schema } from "./Schema.js"

const objectUrls = (version: string, o: ObjectDef): Record<string, string> => {
  const base = `/services/data/v${version}/sobjects/${o.name}`
  return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` }
}

const summary = (version: string, o: ObjectDef): Record<string, unknown> => ({
  name: o.name,
  label: o.label,
  labelPlural: o.labelPlural,
  keyPrefix: o.keyPrefix,
  custom: false,
  createable: true,
  updateable: true,
  deletable: true,
  undeletable: false,
  queryable: true,
  retrieveable: true,
  searchable: true,
  replicateable: true,
  layoutable: true,
  urls: objectUrls(version, o)
})

const fieldDescribe = (f: FieldDef, version: number): Record<string, unknown> => ({
  name: f.name,
  label: f.label,
  type: f.type,
  length: f.length,
  custom: f.custom,
  nillable: f.nillable,
  createable: f.createable,
  updateable: f.updateable,
  defaultedOnCreate: f.defaultedOnCreate,
  defaultValue: f.defaultValue ?? null,
  calculated: f.computed !== undefined,
  externalId: f.externalId,
  unique: f.unique,
  idLookup: f.idLookup,
  caseSensitive: false,
  filterable: true,
  sortable: true,
  referenceTo: f.referenceTo,
  relationshipName: f.relationshipName ?? null,
  restrictedPicklist: f.restricted,
  picklistValues: (f.picklist ?? [])
    .filter((p) => picklistAllows(f, p.value, version))
    .map((p) => ({
      value: p.value,
      label: p.value,
      active: true,
      defaultValue: p.value === f.defaultValue,
      validFor: null
    }))
})

/** `GET /sobjects`: the objects known to the API version. */
export const global = (schema: Schema, version: string): Record<string, unknown> => ({
  encoding: "UTF-8",
  maxBatchSize: 200,
  sobjects: schema.objects.filter((o) => o.minVersion <= Number(version)).map((o) => summary(version, o))
})

/** `GET /sobjects/{T}`: basic information and (always empty) recent items. */
export const basic = (o: ObjectDef, version: string): Record<string, unknown> => ({
  objectDescribe: summary(version, o),
  recentItems: []
})

/** `GET /sobjects/{T}/describe`: the object and its fields. */
export const describe = (o: ObjectDef, version: string): Record<string, unknown> => ({
  ...summary(version, o),
  fields: o.fields.map((f) => fieldDescribe(f, Number(version))),
  childRelationships: [],
  recordTypeInfos: []
})
