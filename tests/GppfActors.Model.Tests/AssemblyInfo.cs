using Xunit;

// Collective tests run several device threads each and assert time-outs; on a 2-core machine
// running test classes side by side makes those timings meaningless, so they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
