import { type Change, ChangeType, CriticalityLevel, diff } from "@graphql-inspector/core";
import {
  buildSchema,
  type GraphQLArgument,
  type GraphQLEnumValue,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  isUnionType,
} from "graphql";
import type { ChangeLevel, ContractChange } from "./changes.js";
import {
  type DeprecationDates,
  formatDay,
  parseGraphqlDeprecation,
  policyViolation,
  removalVerdict,
} from "./deprecation.js";

/**
 * GraphQL breaking changes: @graphql-inspector/core's diff, with our deprecation policy on top —
 * a removal of a field, argument, input field or enum value is allowed (and reported as non-breaking) only when the
 * baseline deprecated it and its removal date has passed; a type may go when everything that referred to it went
 * that way too; and every `@deprecated` reason in the current schema names its dates, 90 days apart.
 */
export type GraphqlDiffOptions = {
  now: Date;
  /** A newly deprecated element must not be dated before the baseline's release (contracts/released.json). */
  baselineReleasedAt: Date;
};

const LEVELS: Record<CriticalityLevel, ChangeLevel> = {
  [CriticalityLevel.Breaking]: "breaking",
  [CriticalityLevel.Dangerous]: "dangerous",
  [CriticalityLevel.NonBreaking]: "non-breaking",
};

/** Removals the deprecation policy can allow, by inspector change type. */
const REMOVALS = new Set<string>([
  ChangeType.FieldRemoved,
  ChangeType.FieldArgumentRemoved,
  ChangeType.InputFieldRemoved,
  ChangeType.EnumValueRemoved,
]);

/**
 * inspector reports a new @deprecated twice: as FIELD_DEPRECATION_* / ENUM_VALUE_DEPRECATION_* and as the directive
 * usage. The usage is kept only where there is no dedicated change (arguments, input fields).
 */
const DUPLICATE_DEPRECATION_USAGES = new Set<string>([
  ChangeType.DirectiveUsageFieldDefinitionAdded,
  ChangeType.DirectiveUsageFieldDefinitionRemoved,
  ChangeType.DirectiveUsageEnumValueAdded,
  ChangeType.DirectiveUsageEnumValueRemoved,
  ChangeType.DirectiveUsageArgumentAdded,
  ChangeType.DirectiveUsageArgumentRemoved,
]);

type Deprecatable = GraphQLField<unknown, unknown> | GraphQLArgument | GraphQLInputField | GraphQLEnumValue;

/** Every element that can carry @deprecated, by schema coordinate (`Type.field`, `Type.field(arg:)`, `Enum.VALUE`). */
function deprecatables(schema: GraphQLSchema): Map<string, Deprecatable> {
  const out = new Map<string, Deprecatable>();
  for (const type of userTypes(schema)) {
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        out.set(`${type.name}.${field.name}`, field);
        for (const arg of field.args) out.set(`${type.name}.${field.name}(${arg.name}:)`, arg);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) out.set(`${type.name}.${field.name}`, field);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) out.set(`${type.name}.${value.name}`, value);
    }
  }
  return out;
}

function userTypes(schema: GraphQLSchema): GraphQLNamedType[] {
  return Object.values(schema.getTypeMap()).filter(
    (t) => !isIntrospectionType(t) && !isSpecifiedScalarType(t),
  );
}

/** The coordinate inspector's change refers to, in the same form as `deprecatables`. */
function removedCoordinate(change: Change): string | null {
  const meta = change.meta as Record<string, unknown>;
  switch (change.type) {
    case ChangeType.FieldRemoved:
      return `${meta.typeName}.${meta.removedFieldName}`;
    case ChangeType.FieldArgumentRemoved:
      return `${meta.typeName}.${meta.fieldName}(${meta.removedFieldArgumentName}:)`;
    case ChangeType.InputFieldRemoved:
      return `${meta.inputName}.${meta.removedFieldName}`;
    case ChangeType.EnumValueRemoved:
      return `${meta.enumName}.${meta.removedEnumValueName}`;
    default:
      return null;
  }
}

/** The day a reason's "removal after" names (removal is allowed from the next day). */
function removalDay(dates: DeprecationDates): string {
  return formatDay(dates.removalDate);
}

function datesOf(element: Deprecatable | undefined): DeprecationDates | { error: string } | null {
  if (!element?.deprecationReason) return null;
  return parseGraphqlDeprecation(element.deprecationReason);
}

/**
 * The places that name a type (a field's or argument's type, a union member, an implemented interface), as the
 * coordinate whose removal would take that reference away.
 */
function referrers(schema: GraphQLSchema): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (typeName: string, coordinate: string) =>
    out.set(typeName, [...(out.get(typeName) ?? []), coordinate]);
  for (const type of userTypes(schema)) {
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        add(getNamedType(field.type).name, `${type.name}.${field.name}`);
        for (const arg of field.args)
          add(getNamedType(arg.type).name, `${type.name}.${field.name}(${arg.name}:)`);
      }
      for (const iface of type.getInterfaces()) add(iface.name, type.name);
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        add(getNamedType(field.type).name, `${type.name}.${field.name}`);
    } else if (isUnionType(type)) {
      for (const member of type.getTypes()) add(member.name, type.name);
    }
  }
  return out;
}

export async function diffGraphql(
  baselineSdl: string,
  currentSdl: string,
  options: GraphqlDiffOptions,
): Promise<ContractChange[]> {
  const before = buildSchema(baselineSdl);
  const after = buildSchema(currentSdl);
  const oldElements = deprecatables(before);
  const newElements = deprecatables(after);
  const changes: ContractChange[] = [];
  const report = (level: ChangeLevel, location: string, message: string) =>
    changes.push({ api: "GraphQL", level, location, message });

  const raw = (await diff(before, after)).filter(
    (c) => !(DUPLICATE_DEPRECATION_USAGES.has(c.type) && (c.path ?? "").includes(".@deprecated")),
  );

  // Removals the policy allows, then types whose every reference went with them (or with another such type).
  const allowed = new Set<string>();
  const verdicts = new Map<Change, ReturnType<typeof removalVerdict>>();
  for (const change of raw) {
    const coordinate = removedCoordinate(change);
    if (!coordinate || !REMOVALS.has(change.type)) continue;
    const verdict = removalVerdict(datesOf(oldElements.get(coordinate)), options.now);
    verdicts.set(change, verdict);
    if (verdict.allowed) allowed.add(coordinate);
  }
  const removedTypes = raw
    .filter((c) => c.type === ChangeType.TypeRemoved)
    .map((c) => String((c.meta as Record<string, unknown>).removedTypeName));
  const refs = referrers(before);
  const goneTypes = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of removedTypes) {
      if (goneTypes.has(name)) continue;
      const ok = (refs.get(name) ?? []).every((coordinate) => {
        const owner = coordinate.split(".")[0] ?? coordinate;
        // A type's references to itself go with it.
        return allowed.has(coordinate) || owner === name || goneTypes.has(owner);
      });
      if (ok) {
        goneTypes.add(name);
        grew = true;
      }
    }
  }

  for (const change of raw) {
    const location = change.path ?? change.type;
    const verdict = verdicts.get(change);
    if (verdict) {
      if (verdict.allowed)
        report("non-breaking", location, `${change.message}, after its deprecation period (${verdict.note})`);
      else report("breaking", location, `${change.message} (${verdict.note})`);
      continue;
    }
    if (change.type === ChangeType.TypeRemoved) {
      const name = String((change.meta as Record<string, unknown>).removedTypeName);
      if (goneTypes.has(name)) {
        report(
          "non-breaking",
          location,
          `${change.message}, with every field that returned or took it (each removed after its deprecation period)`,
        );
      } else report("breaking", location, change.message);
      continue;
    }
    report(LEVELS[change.criticality.level], location, change.message);
  }

  // Every @deprecated in the current schema: dates readable, 90 days apart, not back-dated, never brought forward.
  for (const [coordinate, element] of newElements) {
    if (!element.deprecationReason) continue;
    const dates = parseGraphqlDeprecation(element.deprecationReason);
    if ("error" in dates) {
      report("breaking", coordinate, `deprecated, but ${dates.error}`);
      continue;
    }
    const violation = policyViolation(dates);
    if (violation) report("breaking", coordinate, `deprecated with a removal date too soon: ${violation}`);
    const old = oldElements.get(coordinate);
    if (!old?.deprecationReason) {
      if (dates.deprecatedAt < options.baselineReleasedAt) {
        report(
          "breaking",
          coordinate,
          `newly deprecated but dated ${formatDay(dates.deprecatedAt)}, before the baseline's release (${formatDay(options.baselineReleasedAt)}): the notice starts when it is released`,
        );
      }
      continue;
    }
    const announced = parseGraphqlDeprecation(old.deprecationReason);
    if (!("error" in announced) && dates.removableFrom < announced.removableFrom) {
      report(
        "breaking",
        coordinate,
        `removal date moved earlier, from after ${removalDay(announced)} to after ${removalDay(dates)}`,
      );
    }
  }
  return changes;
}
