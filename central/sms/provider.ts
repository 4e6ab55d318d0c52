/**
 * What central hands an SMS gateway, and what it gets back. Providers are adapters: each one
 * speaks one gateway's documented HTTP API and nothing else; the outbox worker decides about
 * retries from `SendResult`.
 */

/** India's DLT registration a message travels under (TRAI's commercial-communication rules). */
export interface DltIds {
  /** The sender's principal entity id (PE id), 19 digits. */
  entityId: string;
  /** The registered template id, 19 digits. */
  templateId: string;
  /** The registered header (sender id), six letters for transactional/service messages. */
  header: string;
}

/** One message ready to go: already rendered and checked against its DLT template. */
export interface SmsMessage {
  /** The outbox row's id: unique, stable across retries; a reference for the gateway's logs. */
  outboxId: number;
  /** Kind of message, e.g. 'otp', 'earn', 'redeem', 'birthday', 'anniversary'. */
  kind: string;
  /** Destination in E.164, e.g. +919812345678. */
  to: string;
  /** The full rendered text, exactly as the member will read it. */
  text: string;
  /** True when the text needs UCS-2 (Hindi and any other non GSM-7 characters). */
  unicode: boolean;
  /** The template's variables' values, in the template's order (gateways that render themselves). */
  variables: string[];
  /** The template's name in our configuration, e.g. 'otp', 'earn.hi'. */
  templateName: string;
  /** The gateway's own id for this template when it has one (MSG91's flow template id). */
  providerTemplateId?: string;
  dlt: DltIds;
}

/** How a send ended. */
export type SendResult =
  | { ok: true; providerMessageId: string }
  | {
      ok: false;
      /** True when trying again later may succeed (timeouts, 5xx, 429); false for a refusal. */
      retryable: boolean;
      /** For the log and the cashier: what the gateway said, in one line. */
      error: string;
      /**
       * True when the request may have reached the gateway before it failed (no answer in
       * time, the connection dropped after sending): sending again could deliver it twice.
       */
      maybeSent?: boolean;
    };

/** An SMS gateway. `send` never throws: every failure is a SendResult. */
export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<SendResult>;
  close?(): Promise<void>;
}
