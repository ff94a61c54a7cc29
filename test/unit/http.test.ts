import { describe, expect, it } from 'vitest';
import { setOwn } from '#shared/middleware/http';

describe('setOwn', () => {
  it('keeps a key named __proto__ as a plain own property, never the prototype', () => {
    const map: Record<string, string> = {};
    setOwn(map, '__proto__', 'x');
    setOwn(map, 'host', 'h');

    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect(Object.keys(map)).toEqual(['__proto__', 'host']);
    expect(Object.getOwnPropertyDescriptor(map, '__proto__')?.value).toBe('x');
    setOwn(map, '__proto__', 'y');
    expect(Object.getOwnPropertyDescriptor(map, '__proto__')?.value).toBe('y');
  });
});
