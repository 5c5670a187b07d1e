/** Types of scripts/audit.mjs for the tests (the script itself runs without a build step). */
export declare const PASS: 0;
export declare const FINDINGS: 1;
export declare const UNAVAILABLE: 2;
export declare function classifyAudit(stdout: string): { code: number; summary: string; lines: string[] };
