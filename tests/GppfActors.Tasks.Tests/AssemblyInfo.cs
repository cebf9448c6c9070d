using Xunit;

// Loader tests use background workers and time-outs; on 2 cores they run one class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
