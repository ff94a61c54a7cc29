// The Lambda bundles alias the `whatwg-url` package (the URL parser of mongodb-connection-string-url, which
// the MongoDB driver parses connection strings with) to Node's built-in URL: the same WHATWG standard, in
// the runtime already, instead of ~280 KB of JavaScript and Unicode tables (tr46). See infra/bundling.ts;
// test/infra/bundling.test.ts holds both parsers equal on DocumentDB- and Mongo-style connection strings.
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
