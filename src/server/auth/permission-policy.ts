import { MorselError } from '../../errors/index.js'
import type { PermissionConfig, ServerAction } from '../feature-server-config.js'
import type { Principal } from './authenticator.js'

/** A registry object an action touches. `project` stands for the project itself (no object). */
export interface ResourceRef {
  readonly kind: 'feature_view' | 'feature_service' | 'project'
  readonly name: string
}

interface CompiledPermission {
  readonly name: string
  readonly principals?: readonly RegExp[]
  readonly roles?: ReadonlySet<string>
  readonly actions: ReadonlySet<ServerAction>
  readonly projects?: readonly RegExp[]
  readonly featureViews?: readonly RegExp[]
  readonly featureServices?: readonly RegExp[]
}

const KIND_WORDS: Record<ResourceRef['kind'], string> = { feature_view: 'feature view', feature_service: 'feature service', project: 'project' }

/**
 * Who may do what (Feast's READ_ONLINE / WRITE_ONLINE / WRITE_OFFLINE and materialization), from
 * `feature_server.permissions`. Without a `permissions` list every authenticated caller may do
 * everything; with one, only what some permission grants: the action, for a matching principal
 * (by name pattern or role), on every resource touched.
 */
export class PermissionPolicy {
  readonly enabled: boolean
  readonly #project: string
  readonly #permissions: readonly CompiledPermission[]

  constructor(permissions: readonly PermissionConfig[] | undefined, project: string) {
    this.enabled = permissions !== undefined
    this.#project = project
    this.#permissions = (permissions ?? []).map((p) => ({
      name: p.name,
      ...(p.principals !== undefined && { principals: p.principals.map(globToRegExp) }),
      ...(p.roles !== undefined && { roles: new Set(p.roles) }),
      actions: new Set(p.actions),
      ...(p.resources.projects !== undefined && { projects: p.resources.projects.map(globToRegExp) }),
      ...(p.resources.featureViews !== undefined && { featureViews: p.resources.featureViews.map(globToRegExp) }),
      ...(p.resources.featureServices !== undefined && { featureServices: p.resources.featureServices.map(globToRegExp) }),
    }))
  }

  /** The denial for the first resource the principal may not act on, or undefined when all are allowed. */
  denial(principal: Principal, action: ServerAction, resources: readonly ResourceRef[]): MorselError | undefined {
    if (!this.enabled) return undefined
    const touched = resources.length > 0 ? resources : [{ kind: 'project' as const, name: this.#project }]
    for (const r of touched) {
      if (!this.#permissions.some((p) => this.#grants(p, principal, action, r))) {
        const what = r.kind === 'project' ? `project '${this.#project}'` : `${KIND_WORDS[r.kind]} '${r.name}' in project '${this.#project}'`
        return new MorselError(
          'MORSEL_FORBIDDEN',
          `Principal '${principal.name}' lacks permission ${action} on ${what}. Grant it in \`feature_server.permissions\` of feature_store.yaml.`,
          { details: { permission: action, resource: { kind: r.kind, name: r.name }, principal: principal.name } },
        )
      }
    }
    return undefined
  }

  /** Throws the denial, if any. */
  check(principal: Principal, action: ServerAction, resources: readonly ResourceRef[]): void {
    const denied = this.denial(principal, action, resources)
    if (denied !== undefined) throw denied
  }

  #grants(p: CompiledPermission, principal: Principal, action: ServerAction, r: ResourceRef): boolean {
    if (!p.actions.has(action)) return false
    if (p.principals !== undefined || p.roles !== undefined) {
      const byName = p.principals?.some((re) => re.test(principal.name)) ?? false
      const byRole = p.roles !== undefined && principal.roles.some((role) => p.roles!.has(role))
      if (!byName && !byRole) return false
    }
    if (p.projects !== undefined && !p.projects.some((re) => re.test(this.#project))) return false
    if (p.featureViews === undefined && p.featureServices === undefined) return true
    switch (r.kind) {
      case 'feature_view':
        return p.featureViews?.some((re) => re.test(r.name)) ?? false
      case 'feature_service':
        return p.featureServices?.some((re) => re.test(r.name)) ?? false
      case 'project':
        return false
    }
  }
}

/** `credit_*` → /^credit_.*$/: `*` is any run of characters, everything else literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${body}$`, 's')
}
