import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { declarations, typeOf } from '../../../scripts/json-schema-to-ts.ts';

/** The JSON Schema → TypeScript step of the console's generated frame types (scripts/generate-console-types.ts). */
describe('JSON Schema to TypeScript', () => {
  it('writes what zod emits for objects, unions, literals, arrays, records and nullables', () => {
    const Frame = z.object({
      type: z.literal('note'),
      text: z.string().min(1).max(20),
      count: z.number().int().nonnegative(),
      tags: z.array(z.enum(['a', 'b'])).default([]),
      by: z.record(z.string(), z.number()),
      latest: z.partialRecord(z.enum(['x', 'y']), z.boolean()),
      seen: z.string().nullable(),
      'odd-name': z.union([z.number(), z.string()]).optional(),
    });
    expect(typeOf(z.toJSONSchema(Frame, { io: 'output' }))).toBe([
      '{',
      '  type: "note";',
      '  text: string;',
      '  count: number;',
      '  tags: Array<"a" | "b">;',
      '  by: { [key: string]: number };',
      '  latest: { [K in "x" | "y"]?: boolean };',
      '  seen: string | null;',
      '  "odd-name"?: number | string;',
      '}',
    ].join('\n'));
  });

  it('leaves a defaulted field optional in what a console sends, required in what vw sends', () => {
    const Frame = z.object({ roles: z.array(z.string()).default([]) });
    expect(typeOf(z.toJSONSchema(Frame, { io: 'input' }))).toContain('roles?: string[];');
    expect(typeOf(z.toJSONSchema(Frame, { io: 'output' }))).toContain('roles: string[];');
  });

  it('names references to definitions and declares each one', () => {
    expect(declarations({
      Alert: { type: 'object', properties: { severity: { $ref: '#/$defs/Severity' } }, required: ['severity'] },
      Severity: { type: 'string', enum: ['medium', 'high'] },
    })).toBe('export type Alert = {\n  severity: Severity;\n};\n\nexport type Severity = "medium" | "high";\n');
  });

  it('stops at a keyword it does not know rather than writing a wider type', () => {
    expect(() => typeOf({ type: 'object', patternProperties: { '^x': { type: 'string' } } })).toThrow(/unsupported JSON Schema keyword "patternProperties"/);
    expect(() => typeOf({ type: 'array', prefixItems: [{ type: 'string' }] })).toThrow(/prefixItems/);
    expect(() => typeOf({ $ref: 'https://example.org/other.json' })).toThrow(/unsupported \$ref/);
  });
});
