export * from './reading.ts';
export * from './registry.ts';
export * from './score.ts';
export * from './alert.ts';
export * from './dead-letter.ts';
export * from './capacity.ts';
export * from './settings.ts';
export * from './referral.ts';
