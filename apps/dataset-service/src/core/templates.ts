/** Template lookup and registration: built-ins from @medtune/prompting, user templates from the repository. */
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@medtune/kit';
import type { common } from '@medtune/contracts';
import { BUILTIN_TEMPLATES, TemplateError, builtinTemplate, sameTemplate, validateTemplate } from '@medtune/prompting';
import type { TemplateRepo } from './ports';

/** The template of a name; NotFoundError naming `field` otherwise. */
export async function findTemplate(repo: TemplateRepo, name: string, field: string): Promise<common.PromptTemplate> {
  const t = builtinTemplate(name) ?? (await repo.get(name));
  if (!t) throw new NotFoundError(`${field}: no template named ${JSON.stringify(name)} (ListTemplates shows them)`);
  return t;
}

/** Registers a user template; identical re-registration is a no-op (created false). */
export async function registerTemplate(repo: TemplateRepo, t: common.PromptTemplate | undefined): Promise<{ template: common.PromptTemplate; created: boolean }> {
  if (!t) throw new InvalidArgumentError('template', 'required');
  let valid: common.PromptTemplate;
  try {
    valid = validateTemplate(t);
  } catch (err) {
    if (err instanceof TemplateError) throw new InvalidArgumentError(`template.${err.field}`, err.message.slice(err.field.length + 2), { cause: err });
    throw err;
  }
  const builtin = builtinTemplate(valid.name);
  if (builtin) {
    if (sameTemplate(builtin, valid)) return { template: builtin, created: false };
    throw new AlreadyExistsError(`template ${valid.name} is built in and cannot be replaced; register it under another name`);
  }
  if ((await repo.insert(valid)) === 'created') return { template: valid, created: true };
  const existing = await repo.get(valid.name);
  if (existing && sameTemplate(existing, valid)) return { template: existing, created: false };
  throw new AlreadyExistsError(`a different template named ${valid.name} exists; templates are immutable, register it under another name`);
}

/** Built-ins first, then user templates by name. */
export async function listTemplates(repo: TemplateRepo): Promise<common.PromptTemplate[]> {
  const users = (await repo.list()).filter((t) => !builtinTemplate(t.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...BUILTIN_TEMPLATES, ...users];
}
