import type { ComponentChildren } from 'preact'
import { useApi } from './api'
import { Empty, Loaded, PageHeader } from './components'
import type { ConsoleRegistry } from './types'

/**
 * The frame of a page listing one kind of registered object: loads the registry, heads the page
 * and says so when nothing of the kind is registered.
 */
export function RegistryListPage<T>(props: {
  readonly title: string
  readonly intro: string
  readonly items: (r: ConsoleRegistry) => readonly T[]
  readonly none: string
  readonly children: (items: readonly T[], r: ConsoleRegistry) => ComponentChildren
}) {
  const registry = useApi<ConsoleRegistry>('registry')
  return (
    <Loaded state={registry}>
      {(r) => {
        const items = props.items(r)
        return (
          <>
            <PageHeader title={props.title} kind={r.project}>
              {props.intro}
            </PageHeader>
            {items.length === 0 ? <Empty>{props.none}</Empty> : props.children(items, r)}
          </>
        )
      }}
    </Loaded>
  )
}

/**
 * The frame of a page about one registered object: loads the registry (every `refreshMs` when
 * given), finds the object by name (or says it is not there) and heads the page with its name and
 * description.
 */
export function RegistryObjectPage<T extends { readonly name: string; readonly description: string }>(props: {
  readonly name: string
  readonly kind: string
  readonly items: (r: ConsoleRegistry) => readonly T[]
  readonly refreshMs?: number
  readonly children: (item: T, r: ConsoleRegistry) => ComponentChildren
}) {
  const registry = useApi<ConsoleRegistry>('registry', props.refreshMs)
  return (
    <Loaded state={registry}>
      {(r) => {
        const item = props.items(r).find((x) => x.name === props.name)
        if (item === undefined) return <Empty>No {props.kind.toLowerCase()} '{props.name}' in project {r.project}.</Empty>
        return (
          <>
            <PageHeader title={item.name} kind={props.kind}>
              {item.description !== '' ? item.description : 'No description.'}
            </PageHeader>
            {props.children(item, r)}
          </>
        )
      }}
    </Loaded>
  )
}
