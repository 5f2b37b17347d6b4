export { signUpAndGetToken, getToken } from './sign-up.js';
export type { SignedUpUser } from './sign-up.js';
export { tamperedTokens } from './tampered-tokens.js';
export { writeTestSigningKey } from './test-signing-key.js';
export { startTestTokenIssuer } from './test-token-issuer.js';
export type { TestTokenIssuer } from './test-token-issuer.js';
export { signTestToken } from './sign-test-token.js';
export { withToken } from './with-token.js';
