export * from './earn.ts';
