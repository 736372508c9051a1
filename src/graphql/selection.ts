import type { GraphQLResolveInfo, SelectionSetNode } from "graphql";

/**
 * The names of every field selected below the resolved field (at any depth, through inline fragments and fragment
 * spreads), so a resolver computes only what the query asks for. Directives (@skip/@include) are not evaluated: a
 * field they may drop counts as selected, which costs work but never a wrong answer.
 */
export function selectedFieldNames(info: GraphQLResolveInfo): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined) => {
    for (const s of set?.selections ?? []) {
      if (s.kind === "Field") {
        names.add(s.name.value);
        walk(s.selectionSet);
      } else if (s.kind === "InlineFragment") {
        walk(s.selectionSet);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        walk(info.fragments[s.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet);
  return names;
}
