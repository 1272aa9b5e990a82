/** Rows held column by column: `columns.get(name)[r]` is row r's value of `name`. */
export interface ColumnarRows {
  /** Column names in their original order. */
  readonly names: readonly string[]
  readonly columns: ReadonlyMap<string, readonly unknown[]>
  readonly rowCount: number
}
