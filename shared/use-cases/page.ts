/**
 * Keyset paging: the store is asked for one item more than a page holds; if it came back there is a
 * next page, which starts after the page's last item.
 */
export const pageOf = <T, C>(
  found: readonly T[],
  limit: number,
  cursorOf: (last: T) => C,
): { readonly items: readonly T[]; readonly next: C | null } => {
  const items = found.slice(0, limit);
  const last = items.at(-1);
  return { items, next: found.length > limit && last !== undefined ? cursorOf(last) : null };
};
