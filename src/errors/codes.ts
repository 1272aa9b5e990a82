/**
 * The error catalogue: every error Morsel raises carries one of these stable codes.
 *
 * The code is the contract (scripts, HTTP clients and tests match on it); the message is for people.
 * `status` is the HTTP status the feature server answers with, `exit` the CLI's exit code, so a
 * failure means the same thing whichever door it came through. `docs/reference/errors.md` lists
 * every code, and a test keeps the two in step.
 */
export const ERROR_CODES = {
  // Input and usage
  MORSEL_USAGE: { status: 400, exit: 2, summary: 'A command or call was used wrongly.' },
  MORSEL_REQUEST_INVALID: { status: 400, exit: 2, summary: 'A request is malformed or inconsistent.' },
  MORSEL_ENTITY_KEY_INVALID: { status: 400, exit: 2, summary: 'An entity key value is missing or of the wrong type.' },
  MORSEL_VALUE_INVALID: { status: 400, exit: 2, summary: 'A feature value does not fit its declared type.' },
  MORSEL_FEATURE_REF_INVALID: { status: 400, exit: 2, summary: 'A feature reference is not of the form `view:feature`.' },
  MORSEL_FEATURE_NOT_FOUND: { status: 400, exit: 2, summary: 'A requested feature or feature view is not registered.' },
  MORSEL_FEATURE_NAME_COLLISION: { status: 400, exit: 2, summary: 'Two requested features share a name.' },
  MORSEL_FEATURE_SERVICE_NOT_FOUND: { status: 404, exit: 2, summary: 'A feature service is not registered.' },
  MORSEL_NOT_FOUND: { status: 404, exit: 2, summary: 'A registry object or resource does not exist.' },
  MORSEL_PAYLOAD_TOO_LARGE: { status: 413, exit: 2, summary: 'A request is larger than the configured limit.' },
  MORSEL_HEADERS_TOO_LARGE: { status: 431, exit: 2, summary: 'The headers of a request are larger than the server accepts.' },
  MORSEL_REQUEST_TIMEOUT: { status: 408, exit: 2, summary: 'A client took too long to send its request.' },

  // Configuration and definitions
  MORSEL_CONFIG_INVALID: { status: 500, exit: 3, summary: '`feature_store.yaml` is missing, unreadable or invalid.' },
  MORSEL_REPO_INVALID: { status: 500, exit: 3, summary: 'A feature repository file could not be loaded.' },
  MORSEL_DEFINITION_INVALID: { status: 400, exit: 3, summary: 'A definition is invalid and was not applied.' },
  MORSEL_SOURCE_INVALID: { status: 400, exit: 3, summary: 'A data source is missing or does not match its declaration.' },

  // Registry
  MORSEL_REGISTRY_CONFLICT: { status: 409, exit: 4, summary: 'The registry changed since it was read.' },
  MORSEL_REGISTRY_CORRUPT: { status: 500, exit: 4, summary: 'The registry file cannot be parsed.' },
  MORSEL_REGISTRY_LOCKED: { status: 409, exit: 4, summary: 'Another process holds the registry lock.' },
  MORSEL_REGISTRY_IO: { status: 500, exit: 4, summary: 'The registry could not be read or written.' },

  // Stores
  MORSEL_STORE_UNAVAILABLE: { status: 503, exit: 5, summary: 'A store cannot be reached.' },
  MORSEL_STORE_AUTH: { status: 503, exit: 5, summary: 'A store refused Morsel’s credentials or rights.' },
  MORSEL_STORE_ERROR: { status: 500, exit: 5, summary: 'A store failed an operation.' },
  MORSEL_WRITE_FAILED: { status: 500, exit: 5, summary: 'Some rows of a write were not stored.' },
  MORSEL_TIMEOUT: { status: 504, exit: 5, summary: 'An operation exceeded its deadline.' },
  MORSEL_STORE_CLOSED: { status: 503, exit: 1, summary: 'A store was used after it was closed.' },
  MORSEL_UNSUPPORTED: { status: 501, exit: 1, summary: 'The configured backend does not support this.' },

  MORSEL_TRANSFORM_FAILED: { status: 500, exit: 1, summary: 'An on-demand feature function threw or returned a bad value.' },

  // Jobs
  MORSEL_MATERIALIZATION_FAILED: { status: 500, exit: 1, summary: 'A materialization run failed.' },
  MORSEL_BUSY: { status: 409, exit: 4, summary: 'The same work is already running.' },

  // Access control
  MORSEL_UNAUTHENTICATED: { status: 401, exit: 2, summary: 'No valid credentials were presented.' },
  MORSEL_FORBIDDEN: { status: 403, exit: 2, summary: 'The caller lacks a permission.' },

  MORSEL_INTERNAL: { status: 500, exit: 1, summary: 'An unexpected internal error.' },
} as const satisfies Record<string, { status: number; exit: number; summary: string }>

export type ErrorCode = keyof typeof ERROR_CODES
