export { deeplyNestedJson, hostileJsonValue, mutatedBody } from './hostile-json.js';
export { hostilePathSegment, hostileString, nastyFragment, percentEncodeAll } from './hostile-strings.js';
export { problemFields, problemWithAnswer } from './http-problem.js';
export type { HttpAnswer, ProblemBody } from './http-problem.js';
export { messageDefects, misleadingHeaders, withDefects } from './hostile-messages.js';
export type { MessageDefect, RawMessage } from './hostile-messages.js';
export { asSent, expectAcceptable, expectFieldsAmong, fieldsOf, isOverLimit, sendHostile } from './hostile-requests.js';
export type { HostileRequest, HttpMethod } from './hostile-requests.js';
export { assertDeadLettered, INJECTION_TAG_HEADER, WorkQueueInjector } from './work-queue-injector.js';
