using Xunit;

// Each test runs gppf processes that use both cores; running them side by side would only slow all down.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
