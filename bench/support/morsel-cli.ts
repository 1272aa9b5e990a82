// bin/morsel.js for the bench's build: the CLI from bench/.build instead of dist/, so cold start
// measures the same compiled sources as every other part.
import { main } from '../../src/cli/main.js'

process.exitCode = await main(process.argv)
