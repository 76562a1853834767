/** The wfmesh version, advertised by every node. Kept in step with package.json by a test. */
export const VERSION = '0.1.0';
