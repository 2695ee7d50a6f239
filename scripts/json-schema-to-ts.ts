/**
 * TypeScript declarations from the JSON Schema that zod's `z.toJSONSchema` writes, for the console's
 * type check (scripts/generate-console-types.ts). It covers the keywords zod emits for vw's frame
 * schemas; a keyword it does not know stops it, rather than being dropped into a type that is wider
 * than the schema and so would let the console drift unnoticed.
 */

export interface JsonSchema {
  [keyword: string]: unknown;
}

/** Keywords that only constrain values (lengths, ranges, formats) or annotate: no bearing on a type. */
const VALUE_ONLY = new Set([
  '$schema', '$id', '$comment', 'title', 'description', 'default', 'examples', 'format', 'pattern',
  'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'readOnly', 'writeOnly', 'deprecated',
]);

const STRUCTURAL = new Set(['$ref', 'anyOf', 'oneOf', 'allOf', 'const', 'enum', 'type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items']);

const PRIMITIVE: Record<string, string> = { string: 'string', number: 'number', integer: 'number', boolean: 'boolean', null: 'null' };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `#/$defs/Alert` → `Alert`: every reference names one of the declarations written alongside. */
function refName(ref: string): string {
  const name = /^#\/\$defs\/([A-Za-z_$][A-Za-z0-9_$]*)$/.exec(ref)?.[1];
  if (!name) throw new Error(`unsupported $ref ${JSON.stringify(ref)}: only #/$defs/<Name>`);
  return name;
}

const literal = (value: unknown) => JSON.stringify(value);
// Unions need no parentheses: `&` binds tighter than `|`, and arrays of anything but a name use Array<…>.
const union = (parts: string[]) => [...new Set(parts)].join(' | ');

/** The TypeScript type of one schema, indented for a position `indent` deep. */
export function typeOf(schema: JsonSchema | boolean, indent = ''): string {
  if (schema === true) return 'unknown';
  if (schema === false) return 'never';
  for (const keyword of Object.keys(schema)) {
    if (!VALUE_ONLY.has(keyword) && !STRUCTURAL.has(keyword)) throw new Error(`unsupported JSON Schema keyword "${keyword}"`);
  }
  if (typeof schema.$ref === 'string') return refName(schema.$ref);
  if ('const' in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return union(schema.enum.map(literal));
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return union(alternatives.map((s) => typeOf(s, indent)));
  if (Array.isArray(schema.allOf)) return (schema.allOf as JsonSchema[]).map((s) => `(${typeOf(s, indent)})`).join(' & ');
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : schema.type === undefined ? [] : [schema.type as string];
  if (!types.length) return 'unknown';
  return union(types.map((type) => {
    if (type === 'array') {
      if (schema.items === undefined) return 'unknown[]';
      const item = typeOf(schema.items as JsonSchema, indent);
      return /^[\w$."]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    if (type === 'object') return objectType(schema, indent);
    const primitive = PRIMITIVE[type];
    if (!primitive) throw new Error(`unsupported JSON Schema type "${type}"`);
    return primitive;
  }));
}

function objectType(schema: JsonSchema, indent: string): string {
  const inner = `${indent}  `;
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  const extra = schema.additionalProperties;
  if (schema.propertyNames !== undefined) {
    // A record: over any string, or over a closed set of keys of which any may be present (zod's partialRecord).
    if (Object.keys(properties).length || required.size) throw new Error('unsupported: propertyNames alongside properties');
    const value = typeof extra === 'object' && extra !== null ? typeOf(extra as JsonSchema, inner) : 'unknown';
    const keys = typeOf(schema.propertyNames as JsonSchema, inner);
    return keys === 'string' ? `{ [key: string]: ${value} }` : `{ [K in ${keys}]?: ${value} }`;
  }
  const lines = Object.entries(properties).map(([name, property]) =>
    `${inner}${IDENTIFIER.test(name) ? name : literal(name)}${required.has(name) ? '' : '?'}: ${typeOf(property, inner)};`);
  if (typeof extra === 'object' && extra !== null) {
    if (lines.length) throw new Error('unsupported: additionalProperties schema alongside properties');
    return `{ [key: string]: ${typeOf(extra as JsonSchema, inner)} }`;
  }
  if (lines.length) return `{\n${lines.join('\n')}\n${indent}}`;
  return extra === false ? 'Record<string, never>' : 'Record<string, unknown>';
}

/** One exported type per definition, in the order given. */
export function declarations(defs: Record<string, JsonSchema>): string {
  return Object.entries(defs).map(([name, schema]) => `export type ${name} = ${typeOf(schema)};\n`).join('\n');
}
