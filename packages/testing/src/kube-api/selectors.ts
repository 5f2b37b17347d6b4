import { badRequest } from './api-status.js';
import type { KubeObject } from './object-store.js';

export type ObjectFilter = (object: KubeObject) => boolean;

/**
 * labelSelector and fieldSelector, equality-based only (`a=b`, `a==b`, `a!=b`, comma = and); fields are
 * metadata.name and metadata.namespace. Set-based selectors (`in`, `notin`, `exists`) get a 400.
 */
export function selectorFilter(labelSelector: string | null, fieldSelector: string | null): ObjectFilter {
  const labels = parse(labelSelector ?? '', 'labelSelector');
  const fields = parse(fieldSelector ?? '', 'fieldSelector');
  for (const { key } of fields) if (key !== 'metadata.name' && key !== 'metadata.namespace') throw badRequest(`field label not supported by the stand-in: ${key}`);
  return (object) =>
    labels.every(({ key, value, equal }) => (object.metadata.labels?.[key] === value) === equal) &&
    fields.every(({ key, value, equal }) => (object.metadata[key.slice('metadata.'.length)] === value) === equal);
}

function parse(selector: string, parameter: string): { key: string; value: string; equal: boolean }[] {
  return selector
    .split(',')
    .filter((term) => term.trim() !== '')
    .map((term) => {
      const match = /^\s*([^!=\s]+)\s*(==|=|!=)\s*([^!=\s]*)\s*$/.exec(term);
      if (!match) throw badRequest(`unable to parse requirement in ${parameter}: ${JSON.stringify(term)} (the stand-in supports only =, == and !=)`);
      return { key: match[1] ?? '', value: match[3] ?? '', equal: match[2] !== '!=' };
    });
}
