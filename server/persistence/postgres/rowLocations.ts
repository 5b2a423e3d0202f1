/**
 * Each row's place, as the LevelDB store keys the same record: the associated data it is sealed
 * with (recordCodec.ts), so a row copied to another document, tenant, kind or position does not open.
 */
export const updateLocation = (document: string, clock: number | string) => ['v1', document, 'update', Number(clock)]
export const stateVectorLocation = (document: string, clock: number | string) => ['v1_sv', document, Number(clock)]
export const eventLocation = (document: string, seq: number | string) => ['posalpro_events', document, Number(seq)]
export const baseLocation = (document: string, seq: number | string) => ['posalpro_events_base', document, Number(seq)]
export const reviewLocation = (tenant: string, id: string) => ['posalpro_reviews', tenant, id]
export const conflictLocation = (document: string, eventSeq: number | string, position: number) => ['posalpro_conflicts', document, Number(eventSeq), position]
export const ownerLocation = (document: string, client: number | string) => ['posalpro_owners', document, Number(client)]
export const notificationLocation = (tenant: string, userId: string, id: string) => ['posalpro_notifications', tenant, userId, id]
export const summaryLocation = (tenant: string, document: string) => ['posalpro_summaries', tenant, document]
