import type { EventContract, EventData } from './event-contract.js';
import { EventRejectedError } from './event-rejected-error.js';
import { validateEventData } from './event-validation.js';
import type { Upcaster } from './upcaster.js';

/** How a catalog is declared for one event type. */
export interface EventFamilyDefinition<TType extends string = string> {
  /** The service that publishes this event (documented as the AsyncAPI `send` operation). */
  readonly producer: string;
  /** Every version consumers still accept, oldest first, without gaps; the last is the one publishers emit. */
  readonly versions: readonly [EventContract<TType>, ...EventContract<TType>[]];
  /** One per step between consecutive versions (vN → vN+1). */
  readonly upcasters?: readonly Upcaster[];
}

/** One event type as the catalog knows it (what the docs generator walks). */
export interface EventFamily {
  readonly type: string;
  readonly producer: string;
  readonly versions: readonly EventContract[];
  readonly latest: EventContract;
}

/**
 * A decoded event, already upcast to the version the caller asked for. A union over event types narrows
 * on `type`: `if (event.type === 'user.created') event.data.locale` needs no cast.
 */
export type DecodedEvent<C extends EventContract> = C extends EventContract
  ? {
      readonly type: C['type'];
      readonly version: C['version'];
      readonly contract: C;
      readonly data: EventData<C>;
      /** The version it arrived as, before upcasting. */
      readonly receivedVersion: number;
    }
  : never;

/** What `decodeAs` needs of a received event; `fromWireMessage`'s result fits. */
export interface ReceivedEvent {
  readonly type: string;
  readonly version: number;
  readonly data: unknown;
}

interface Family extends EventFamily {
  readonly byVersion: ReadonlyMap<number, EventContract>;
  /** Keyed by the version they start from. */
  readonly upcasters: ReadonlyMap<number, Upcaster>;
}

/**
 * Every event type with all the versions still understood and the upcasters between them. `TLatest` is the
 * union of the latest contracts (what publishers may emit), `TKnown` of every known version.
 */
export class EventCatalog<TLatest extends EventContract = EventContract, TKnown extends EventContract = EventContract> {
  private readonly families: ReadonlyMap<string, Family>;

  constructor(definitions: Readonly<Record<string, EventFamilyDefinition>>) {
    this.families = new Map(
      Object.entries(definitions).map(([type, definition]) => [type, buildFamily(type, definition)]),
    );
  }

  /** Every event type, in declaration order. */
  get types(): readonly TLatest['type'][] {
    // The keys are the declared types, which the constructor checked against each contract.
    return [...this.families.keys()] as TLatest['type'][];
  }

  /** Every event type with its versions, for tooling such as the docs generator. */
  get eventFamilies(): readonly EventFamily[] {
    return [...this.families.values()].map(({ type, producer, versions, latest }) => ({
      type,
      producer,
      versions,
      latest,
    }));
  }

  has(type: string): type is TLatest['type'] {
    return this.families.has(type);
  }

  /** The contract publishers emit for a type: always the latest version. */
  latest<T extends TLatest['type']>(type: T): Extract<TLatest, { readonly type: T }> {
    // Built from the same declaration the type parameter was inferred from.
    return this.family(type).latest as Extract<TLatest, { readonly type: T }>;
  }

  /** Every known version of a type, oldest first. */
  versions<T extends TLatest['type']>(type: T): readonly Extract<TKnown, { readonly type: T }>[] {
    return this.family(type).versions as readonly Extract<TKnown, { readonly type: T }>[];
  }

  /** True only for the latest version of a known type (the same contract object). */
  isLatest(contract: EventContract): boolean {
    return this.families.get(contract.type)?.latest === contract;
  }

  /**
   * Validates `data` against the version it arrived as, then upcasts it step by step to the latest version.
   * Throws `EventRejectedError`: `unknown_event_type`, `unsupported_version` or `schema_invalid`.
   */
  decode(type: string, version: number, data: unknown): DecodedEvent<TLatest> {
    const family = this.family(type);
    return this.upcastTo(family, family.latest, version, data) as DecodedEvent<TLatest>;
  }

  /**
   * Like `decode`, for a handler that knows which contract it wants: checks the event's type, then upcasts to
   * `contract`'s version (a newer version than that is `unsupported_version`).
   */
  decodeAs<C extends TKnown>(contract: C, event: ReceivedEvent): DecodedEvent<C> {
    const family = this.family(contract.type);
    if (family.byVersion.get(contract.version) !== contract) {
      throw new TypeError(`${contract.type} v${contract.version} is not the catalog's contract for that version`);
    }
    if (event.type !== contract.type) {
      throw new EventRejectedError('unknown_event_type', `expected a ${contract.type} event, got ${event.type}`, {
        eventType: event.type,
        version: event.version,
      });
    }
    return this.upcastTo(family, contract, event.version, event.data) as DecodedEvent<C>;
  }

  private family(type: string): Family {
    const family = this.families.get(type);
    if (!family)
      throw new EventRejectedError('unknown_event_type', `unknown event type "${type}"`, { eventType: type });
    return family;
  }

  private upcastTo(family: Family, target: EventContract, version: number, data: unknown): DecodedEvent<EventContract> {
    const arrivedAs = family.byVersion.get(version);
    if (!arrivedAs || version > target.version) {
      throw new EventRejectedError('unsupported_version', unsupportedVersionMessage(family, target, version), {
        eventType: family.type,
        version,
      });
    }
    let current = validateEventData(arrivedAs, data);
    for (let from = version; from < target.version; from += 1) {
      // buildFamily guarantees one upcaster per step between known versions.
      const step = family.upcasters.get(from) as Upcaster;
      current = validateEventData(step.to, step.upcast(current), `(upcast from v${version})`);
    }
    return { type: target.type, version: target.version, contract: target, data: current, receivedVersion: version };
  }
}

function unsupportedVersionMessage(family: Family, target: EventContract, version: number): string {
  const known = family.versions.map((contract) => `v${contract.version}`).join(', ');
  if (!Number.isSafeInteger(version) || version < 1)
    return `${family.type}: version ${version} is not a positive integer`;
  if (version > target.version) {
    return target === family.latest
      ? `${family.type} v${version} is newer than this build knows (${known}): upgrade @switchyard/contracts`
      : `${family.type} v${version} cannot be turned into v${target.version}: upcasting only goes forward`;
  }
  return `${family.type} v${version} is no longer supported (known: ${known}) and has no upcaster path`;
}

/** Checks one family's declaration: matching types, consecutive versions, exactly one upcaster per step. */
function buildFamily(type: string, definition: EventFamilyDefinition): Family {
  const { producer, versions } = definition;
  if (versions.length === 0) throw new TypeError(`catalog: ${type} declares no versions`);
  const byVersion = new Map<number, EventContract>();
  versions.forEach((contract, index) => {
    if (contract.type !== type)
      throw new TypeError(`catalog: ${contract.type} v${contract.version} is listed under ${type}`);
    const previous = versions[index - 1];
    if (previous && contract.version !== previous.version + 1) {
      throw new TypeError(
        `catalog: ${type} versions must be consecutive and ascending, got v${previous.version} then v${contract.version}`,
      );
    }
    byVersion.set(contract.version, contract);
  });
  const upcasters = new Map<number, Upcaster>();
  for (const upcaster of definition.upcasters ?? []) {
    if (byVersion.get(upcaster.from.version) !== upcaster.from || byVersion.get(upcaster.to.version) !== upcaster.to) {
      throw new TypeError(
        `catalog: the upcaster ${upcaster.from.type} v${upcaster.from.version} → v${upcaster.to.version} is not between listed versions of ${type}`,
      );
    }
    if (upcasters.has(upcaster.from.version))
      throw new TypeError(`catalog: two upcasters from ${type} v${upcaster.from.version}`);
    upcasters.set(upcaster.from.version, upcaster);
  }
  for (const contract of versions.slice(0, -1)) {
    if (!upcasters.has(contract.version)) {
      throw new TypeError(`catalog: ${type} v${contract.version} has no upcaster to v${contract.version + 1}`);
    }
  }
  const latest = versions[versions.length - 1] as EventContract;
  return { type, producer, versions, latest, byVersion, upcasters };
}

type LastOf<T> = T extends readonly [...unknown[], infer L] ? L : never;
type LatestOf<M> = { [K in keyof M]: M[K] extends { readonly versions: infer V } ? LastOf<V> : never }[keyof M];
type KnownOf<M> = { [K in keyof M]: M[K] extends { readonly versions: readonly (infer C)[] } ? C : never }[keyof M];

/**
 * Declares a catalog. Keys are event types; inconsistencies (a contract under the wrong key, a version gap, a
 * missing upcaster) throw when the module loads.
 */
export function defineCatalog<const M extends { readonly [K in keyof M]: EventFamilyDefinition<K & string> }>(
  definitions: M,
): EventCatalog<Extract<LatestOf<M>, EventContract>, Extract<KnownOf<M>, EventContract>> {
  return new EventCatalog<Extract<LatestOf<M>, EventContract>, Extract<KnownOf<M>, EventContract>>(definitions);
}

/** The latest contracts of a catalog (what may be published), as a union. */
export type CatalogLatest<Cat> = Cat extends EventCatalog<infer L, EventContract> ? L : never;
/** Every known contract of a catalog, as a union. */
export type CatalogKnown<Cat> = Cat extends EventCatalog<EventContract, infer K> ? K : never;
