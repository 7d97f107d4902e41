import type { DeliveryRecord, DeliveryStore } from '../../webhooks/deliveries.ts';
import { AdminError } from '../../lifecycle/errors.ts';
import type { AdminRoute } from './routes.ts';

const STATUSES = ['pending', 'delivering', 'delivered', 'failed'] as const;

/** Published in the OpenAPI document through schemas.ts. */
export const webhookSchemas = {
  WebhookDelivery: {
    type: 'object', required: ['id', 'webhook', 'eventId', 'eventType', 'status', 'attempts', 'createdAt', 'updatedAt', 'nextAttemptAt', 'lastStatus', 'lastError'],
    description: 'One event on its way to one receiver. Never the signing secret.',
    properties: {
      id: { type: 'string', description: 'Also sent as Keygate-Delivery-Id' },
      webhook: { type: 'string', description: 'The receiver\'s name in webhooks[]' },
      eventId: { type: 'string', description: 'The event\'s id (Keygate-Event-Id), the same in every attempt: receivers deduplicate on it' },
      eventType: { type: 'string' },
      status: { enum: [...STATUSES] },
      attempts: { type: 'integer', minimum: 0 },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
      lastStatus: { type: ['integer', 'null'], description: 'HTTP status of the last answer; null when none came' },
      lastError: { type: ['string', 'null'] },
    },
  },
} as const;

/**
 * `GET /v1/webhooks/deliveries`: newest first, filtered by status, receiver or event. Needs
 * `keygate:admin:webhooks:read` (permissions.ts derives it from the path).
 */
export function webhookRoutes(deliveries: DeliveryStore): AdminRoute[] {
  return [
    {
      method: 'GET', path: '/v1/webhooks/deliveries', summary: 'Webhook delivery log: status, attempts and last error of recent deliveries',
      ok: { status: 200, schema: { list: 'WebhookDelivery' } },
      query: {
        status: { description: 'Only deliveries in this state', schema: { enum: [...STATUSES] } },
        webhook: 'Receiver name', eventId: 'One event\'s deliveries',
        limit: { description: 'Deliveries to return, newest first', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
      },
      handle: async (c) => {
        const status = c.query.get('status') ?? undefined;
        if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) throw new AdminError('invalid_input', `status: one of ${STATUSES.join(', ')}`, 'status');
        const limitText = c.query.get('limit') ?? '100';
        const limit = Number(limitText);
        if (!/^[0-9]+$/.test(limitText) || limit < 1 || limit > 1000) throw new AdminError('invalid_input', 'limit: 1-1000', 'limit');
        const webhook = c.query.get('webhook') ?? undefined;
        const eventId = c.query.get('eventId') ?? undefined;
        let items: DeliveryRecord[];
        try {
          items = await deliveries.list({ limit, ...(status === undefined ? {} : { status: status as DeliveryRecord['status'] }), ...(webhook === undefined ? {} : { webhook }), ...(eventId === undefined ? {} : { eventId }) });
        } catch {
          throw new AdminError('store_unavailable', 'The delivery log cannot be read: the store is unavailable');
        }
        return { items };
      },
    },
  ];
}
