// The API's JSON shapes, defined once beside the server code that produces them.
export type * from '../../src/server/console/console-types'
