using Xunit;

// Actor tests run device threads and real SQLite files; on 2 cores they run one class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
