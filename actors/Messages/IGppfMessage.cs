namespace GppfActors.Actors.Messages;

/// <summary>
/// Marker of every message the project's actors exchange. The Hyperion serializer is bound to this
/// interface, not to System.Object, so nothing outside the project's own protocol is deserialised
/// with it (Hyperion is not safe on an open network).
/// </summary>
public interface IGppfMessage;
