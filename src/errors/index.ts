export { ERROR_CODES, type ErrorCode } from './codes.js'
export { MorselError, isMorselError, toMorselError, type MorselErrorOptions } from './morsel-error.js'
export { suggest, didYouMean } from './suggest.js'
