/**
 * The one parameter binder: every statement the store builds from a query (search, count, include,
 * history) takes its values through `bind`, so no value is ever spliced into SQL text, and its table
 * aliases through `alias`, so nested conditions never collide.
 */
import type { SqlValue } from './sql-client';

/** A statement and the values of its $n parameters, as compiled; search-runner.ts runs it. */
export interface CompiledSql {
  sql: string;
  params: SqlValue[];
}

export class SqlBuilder {
  readonly params: SqlValue[] = [];
  private aliases = 0;

  bind(value: SqlValue): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  alias(prefix: string): string {
    this.aliases += 1;
    return `${prefix}${this.aliases}`;
  }

  compiled(sql: string): CompiledSql {
    return { sql, params: this.params };
  }
}
