import { ROLES, type Role } from '../../shared/schemas.ts'
import { h } from './dom.ts'
import { signIn, type Session } from './session.ts'

/** Dev-mode sign-in: pick who you are. Tokens come from the server's `/dev/token`. */
export const signInView = (onSignedIn: (session: Session) => void): { element: HTMLElement; dispose: () => void } => {
  const userId = h('input', {
    id: 'sign-in-user',
    name: 'user',
    required: true,
    value: 'alice',
    autocomplete: 'username',
    // The server's user-id pattern. Browsers compile `pattern` with the `v` flag, where a bare
    // `-` at the end of a class is a syntax error (the whole check was then dropped): escaped.
    pattern: '[A-Za-z0-9][A-Za-z0-9._@\\-]{0,63}',
  })
  const name = h('input', { id: 'sign-in-name', name: 'name', required: true, value: 'Alice' })
  const role = h('select', { id: 'sign-in-role', name: 'role' }, ...ROLES.map((value) => h('option', { value, selected: value === 'editor' }, value)))
  const tenant = h('input', { id: 'sign-in-tenant', name: 'tenant', required: true, value: 'acme' })
  const legal = h('input', { id: 'sign-in-legal', name: 'legal', type: 'checkbox' })
  const error = h('p', { class: 'error', role: 'alert' })
  const submit = h('button', { type: 'submit' }, 'Sign in')
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-heading' },
    h('h1', { id: 'sign-in-heading' }, 'Sign in to PosalPro'),
    h('p', { class: 'hint' }, 'Demo server: pick any user and role. Tokens come from the dev-mode endpoint.'),
    h('div', { class: 'field' }, h('label', { for: 'sign-in-user' }, 'User id'), userId),
    h('div', { class: 'field' }, h('label', { for: 'sign-in-name' }, 'Display name'), name),
    h('div', { class: 'field' }, h('label', { for: 'sign-in-role' }, 'Role'), role),
    h('div', { class: 'field' }, h('label', { for: 'sign-in-tenant' }, 'Tenant'), tenant),
    h('div', { class: 'field field-checkbox' }, legal, h('label', { for: 'sign-in-legal' }, 'Legal reviewer')),
    error,
    submit,
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    submit.disabled = true
    error.textContent = ''
    signIn({ userId: userId.value.trim(), name: name.value.trim(), role: role.value as Role, tenant: tenant.value.trim(), legal: legal.checked })
      .then(onSignedIn, (failure: Error) => {
        error.textContent = navigator.onLine ? failure.message : 'You are offline: signing in needs the server once.'
        submit.disabled = false
      })
  })
  return { element: form, dispose: () => {} }
}
