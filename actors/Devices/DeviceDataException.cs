namespace GppfActors.Actors.Devices;

/// <summary>
/// The data of a step could not be loaded: a sample that cannot be decoded or is invalid. Trying
/// the step again would read the same sample, so a workload throws this (with the file and the
/// sample named in the message) and the device reports a data failure instead of restarting.
/// </summary>
public sealed class DeviceDataException(string message, Exception inner) : Exception(message, inner);
