using System.Runtime.CompilerServices;
using TorchSharp;

namespace GppfActors.Collectives.Tests.Support;

internal static class TestAssemblySetup
{
    // The specs run several ranks (and several "processes") as threads of this process on a
    // 2-core machine; libtorch's intra-op pool on top of them oversubscribes the cores and made
    // the reference checks ten times slower. One libtorch thread, set once, as a node would.
    [ModuleInitializer]
    internal static void OneLibtorchThread() => torch.set_num_threads(1);
}
