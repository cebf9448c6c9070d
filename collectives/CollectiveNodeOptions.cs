using System.Net;

namespace GppfActors.Collectives;

/// <summary>How a process's <see cref="CollectiveNode"/> listens and moves data; defaults suit loopback and a LAN.</summary>
public sealed record CollectiveNodeOptions
{
    /// <summary>Address the listener binds to.</summary>
    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>Listener port; 0 takes any free one.</summary>
    public int Port { get; init; }

    /// <summary>Host other processes reach this one at; required when <see cref="BindAddress"/> is a wildcard. Defaults to the bind address.</summary>
    public string? AdvertisedHost { get; init; }

    /// <summary>This process's id in specs; defaults to machine name, process id and port.</summary>
    public string? ProcessId { get; init; }

    /// <summary>Largest data frame; the ring cuts every chunk into at least two segments of at most this size.</summary>
    public int SegmentBytes { get; init; } = 1 << 20;

    /// <summary>Reductions up to this size are all-gathered and summed locally in one round instead of going through the ring.</summary>
    public int SmallBytes { get; init; } = 64 << 10;

    /// <summary>Largest amount reduced in one ring pass; bounds the memory of one group.</summary>
    public int BucketBytes { get; init; } = 64 << 20;

    /// <summary>Segment buffers the receiver may fill ahead of the reduction.</summary>
    public int NumReceiveBuffers { get; init; } = 4;

    /// <summary>How long an accepted connection may take to say who it is.</summary>
    public double HandshakeTimeoutSeconds { get; init; } = 10;

    /// <summary>Connections for epochs this process has not joined yet that are held until it does.</summary>
    public int MaxParkedConnections { get; init; } = 64;

    /// <summary>Monotonic clock for every time-out (tests substitute it).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public CollectiveNodeOptions Validate()
    {
        if (!IPAddress.TryParse(BindAddress, out var address))
        {
            throw new ArgumentException($"BindAddress '{BindAddress}' is not an IP address");
        }
        if ((address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) && string.IsNullOrWhiteSpace(AdvertisedHost))
        {
            throw new ArgumentException($"BindAddress {BindAddress} is a wildcard: set AdvertisedHost to the address other processes should connect to");
        }
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"Port {Port} is out of range");
        }
        if (SegmentBytes < 64 || SegmentBytes % 8 != 0)
        {
            throw new ArgumentException($"SegmentBytes must be a multiple of 8, at least 64 (got {SegmentBytes})");
        }
        if (SmallBytes < 0)
        {
            throw new ArgumentException($"SmallBytes must not be negative (got {SmallBytes})");
        }
        if (BucketBytes < 2 * SegmentBytes / 8 || BucketBytes % 8 != 0)
        {
            throw new ArgumentException($"BucketBytes must be a multiple of 8 and not tiny against SegmentBytes (got {BucketBytes})");
        }
        if (NumReceiveBuffers < 1)
        {
            throw new ArgumentException($"NumReceiveBuffers must be at least 1 (got {NumReceiveBuffers})");
        }
        if (!(HandshakeTimeoutSeconds > 0))
        {
            throw new ArgumentException($"HandshakeTimeoutSeconds must be positive (got {HandshakeTimeoutSeconds})");
        }
        if (MaxParkedConnections < 0)
        {
            throw new ArgumentException($"MaxParkedConnections must not be negative (got {MaxParkedConnections})");
        }
        ArgumentNullException.ThrowIfNull(TimeProvider);
        return this;
    }
}
