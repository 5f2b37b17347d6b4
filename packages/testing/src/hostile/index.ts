export { deeplyNestedJson, hostileJsonValue, mutatedBody } from './hostile-json.js';
export { hostilePathSegment, hostileString, nastyFragment, percentEncodeAll } from './hostile-strings.js';
export { problemFields, problemWithAnswer } from './http-problem.js';
export type { HttpAnswer, ProblemBody } from './http-problem.js';
export { messageDefects, misleadingHeaders, withDefects } from './hostile-messages.js';
export type { MessageDefect, RawMessage } from './hostile-messages.js';
