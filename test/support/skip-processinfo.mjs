// Preloaded into every test process by test/run.mjs (through NODE_OPTIONS, so it runs before tap's own --import of
// @tapjs/processinfo). processinfo records, for coverage and `tap --changed`, every module a test process loads: it
// reads each file again, splits it into lines, parses its source map, hooks require and spawn, and writes a JSON file
// at exit. This suite uses neither coverage nor --changed, and that recording cost 0.1–1.2 s of CPU per test process
// (a third of a small file's CPU; ~40 s of the whole suite's on two cores). These are processinfo's own switches:
// its exclude pattern (match every file) and its "do not register" flag for this process.
process.env._TAPJS_PROCESSINFO_EXCLUDE_ = '/./'
process.env.__TAPJS_PROCESSINFO_TESTING_NO_REGISTER__ = String(process.pid)
