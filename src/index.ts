export { createGuard, type Explanation, type Guard, type PolicyTraceEntry } from './guard.js';
export {
  REASONS,
  statusOf,
  toProblem,
  type AllowDecision,
  type CheckOutcome,
  type CheckResult,
  type Decision,
  type DenyDecision,
  type DenyReason,
  type DenyResponse,
  type DenyStatus,
  type Mode,
  type Problem,
  type ReasonCode,
  type Requirement,
} from './decision.js';
export { ConfigError, type ConfigErrorCode } from './errors.js';
export type { GuardOptions, AttestationOptions, Requirements, RouteOptions } from './options.js';
export type { ApproovOptions } from './attestation/approov.js';
export type { FirebaseOptions } from './attestation/firebase.js';
export type { JwtOptions } from './attestation/jwt.js';
export type { RemoteJwksOptions } from './keys/resolve.js';
export type { Jwk, JwsAlgorithm, KeyInput, SecretKeyInput } from './keys/key.js';
export type { Principal, PrincipalKind } from './principal.js';
export type { GuardRequest, HeaderReader, HeaderRecord } from './request.js';
export type { Logger } from './observe/logger.js';
export type { Duration } from './lib/duration.js';
export type { SignatureOptions, SignatureRequirements } from './signatures/options.js';
export type { DirectoryOptions } from './signatures/directory.js';
export type { SignatureKeyInput } from './signatures/keys.js';
export type { SignatureAlgorithm } from './signatures/types.js';
export type { InstallSignatureOptions } from './signatures/install.js';
export type { AccountRequest, AccountResult, RateLimitRequest, RateLimitState, Store } from './stores/store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export type { PolicyInForce, RateLimitInfo } from './decision.js';
export type {
  PolicyAction,
  PolicyContext,
  PolicyDocument,
  PolicyLists,
  PolicyResult,
  PolicyRule,
  ProofRequirement,
  RateLimitSpec,
  RuleMatch,
  RuleMode,
} from './policy/types.js';
export type { PolicyHandle, PolicyUpdate } from './policy/handle.js';
export type { PolicySource, PolicySubscription } from './policy/source.js';
export { decisionEvent, type DecisionEvent } from './observe/decision-event.js';
export type { DecisionLabels, Metrics } from './observe/metrics.js';
