import Handlebars from "handlebars";

/**
 * The fixed helper set every template may use. Kept small on purpose (plop's baked-in helpers are the
 * model): a template that needs more logic should get it from a computed value, not a new helper.
 */
export const HELPER_NAMES = ["kebabCase", "camelCase", "pascalCase", "snakeCase", "json"] as const;

/** Words of `exportProject`, `export_project`, `export-project` or `Export Project`: `[export, project]`. */
export function words(value: string): string[] {
  return value
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
}

const capitalise = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

export const kebabCase = (value: string) => words(value).join("-");
export const snakeCase = (value: string) => words(value).join("_");
export const pascalCase = (value: string) => words(value).map(capitalise).join("");
export const camelCase = (value: string) => {
  const pascal = pascalCase(value);
  return pascal.charAt(0).toLowerCase() + pascal.slice(1);
};

type Helper = (value: unknown) => string;

const helpers: Record<(typeof HELPER_NAMES)[number], Helper> = {
  kebabCase: (value) => kebabCase(String(value)),
  camelCase: (value) => camelCase(String(value)),
  pascalCase: (value) => pascalCase(String(value)),
  snakeCase: (value) => snakeCase(String(value)),
  // A JSON literal (quoted, escaped): the safe way to put an answer into TS, JSON or YAML source.
  json: (value) => JSON.stringify(value),
};

/** An isolated handlebars instance with only the fixed helpers, so nothing leaks between renders. */
export function createRenderer(): (source: string, context: object, where: string) => string {
  const instance = Handlebars.create();
  for (const [name, helper] of Object.entries(helpers)) instance.registerHelper(name, helper);
  const knownHelpers = Object.fromEntries(HELPER_NAMES.map((name) => [name, true]));
  return (source, context, where) => {
    // noEscape: the output is source code, not HTML; answers are validated before they get here.
    // strict: a typo in a template variable fails the render instead of writing an empty string.
    const template = instance.compile(source, {
      noEscape: true,
      strict: true,
      knownHelpers,
      knownHelpersOnly: true,
    });
    try {
      return template(context);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
    }
  };
}
