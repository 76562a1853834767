export { MeshStepRunner, placementNeed, type MeshRunnerOptions } from './mesh-runner.js';
export { StepServer, type StepServerOptions } from './step-server.js';
export { SelfConstrainedRunner } from './self-runner.js';
