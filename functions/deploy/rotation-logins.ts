/** Alternating-users rotation's second login: the rotation functions clone `<user>` as `<user>_clone`. */
const CLONE_SUFFIX = '_clone';

/** Both logins an alternating-users rotation switches between, whichever of the two the secret names now. */
export const rotationLogins = (name: string): readonly [string, string] => {
  const base = name.endsWith(CLONE_SUFFIX) ? name.slice(0, -CLONE_SUFFIX.length) : name;
  return [base, `${base}${CLONE_SUFFIX}`];
};
