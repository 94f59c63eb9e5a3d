import type { Migration } from './index';

/**
 * Extended statistics on the index tables. Their lookup columns are strongly correlated (a `code`
 * belongs to one `param` of one `resource_type`), and with the default independence assumption the
 * planner underestimates a common code by 10x, then joins and sorts every match instead of walking
 * the resource ids in order and stopping at the page size. Measured on 10,000 Endpoints:
 * `Endpoint?connection-type=ihe-xca&status=active` went from 78 ms to 2.8 ms.
 */
export const M003_INDEX_STATISTICS: Migration = {
  id: 3,
  name: 'extended statistics on search index tables',
  sql: `
    CREATE STATISTICS search_string_stats (dependencies, mcv) ON resource_type, param, norm FROM search_string;
    CREATE STATISTICS search_token_stats (dependencies, mcv) ON resource_type, param, code FROM search_token;
    CREATE STATISTICS search_reference_stats (dependencies, mcv) ON resource_type, param, target_type FROM search_reference;
    CREATE STATISTICS search_date_stats (dependencies, mcv) ON resource_type, param FROM search_date;
    CREATE STATISTICS search_number_stats (dependencies, mcv) ON resource_type, param FROM search_number;
    CREATE STATISTICS search_quantity_stats (dependencies, mcv) ON resource_type, param FROM search_quantity;
    CREATE STATISTICS search_uri_stats (dependencies, mcv) ON resource_type, param, value FROM search_uri;
  `,
};
