import { sql } from 'kysely';
import type { UsageCount, UsageGroup, UsageRepository } from '../../../domain/usage/index.ts';
import type { Connection } from '../transactions.ts';

const GROUP_COLUMNS: Readonly<Record<UsageGroup, 'status_class' | 'api_version' | 'api_key_id' | 'rate_limit_policy'>> = {
  status_class: 'status_class',
  api_version: 'api_version',
  api_key: 'api_key_id',
  rate_limit_policy: 'rate_limit_policy',
};
/** Rows per INSERT: well under PostgreSQL's 65,535 parameters. */
const CHUNK = 1_000;

/** Usage counts in `usage_counts` (migration 0014). */
export function createUsageRepository(connection: Connection): UsageRepository {
  return {
    async add(counts) {
      for (let i = 0; i < counts.length; i += CHUNK) {
        const rows = counts.slice(i, i + CHUNK).map((c: UsageCount) => ({
          bucket: c.bucket,
          user_id: c.userId,
          api_key_id: c.apiKeyId,
          api_version: c.apiVersion,
          status_class: c.statusClass,
          rate_limit_policy: c.rateLimitPolicy,
          count: c.count,
        }));
        await connection()
          .insertInto('usage_counts')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['user_id', 'bucket', 'api_key_id', 'api_version', 'status_class', 'rate_limit_policy']).doUpdateSet({ count: sql<number>`usage_counts.count + excluded.count` }),
          )
          .execute();
      }
    },

    async sum({ from, to, granularity, groupBy, userId }) {
      const bucket = granularity === 'minute' ? sql<Date>`bucket` : sql<Date>`date_bin('1 hour'::interval, bucket, '1970-01-01T00:00:00Z'::timestamptz)`;
      // Everybody's sessions are told apart by their user.
      const column = (group: UsageGroup) =>
        group === 'api_key' && userId === null ? sql<string>`CASE WHEN api_key_id = '' THEN 'session:' || user_id ELSE api_key_id END` : sql.ref<string>(GROUP_COLUMNS[group]);
      const [first, second] = groupBy;
      let query = connection()
        .selectFrom('usage_counts')
        .select([bucket.as('b'), column(first!).as('k1'), (second ? column(second) : sql<string>`''`).as('k2'), sql<string>`sum(count)`.as('n')])
        .where('bucket', '>=', from)
        .where('bucket', '<', to);
      if (userId !== null) query = query.where('user_id', '=', userId);
      if (groupBy.includes('rate_limit_policy')) query = query.where('status_class', '=', '429');
      const rows = await query.groupBy([sql.raw('1'), sql.raw('2'), sql.raw('3')]).execute();
      return rows.map((r) => ({ bucket: new Date(r.b), keys: second ? [r.k1, r.k2] : [r.k1], count: Number(r.n) }));
    },
  };
}
