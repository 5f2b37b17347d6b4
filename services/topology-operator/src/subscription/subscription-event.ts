/** A Kubernetes Event to record on the subscription. */
export interface SubscriptionEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase. */
  reason: string;
  message: string;
}
