namespace Outside;

/// <summary>A type from outside the project, as a peer might name one to have it built on deserialisation.</summary>
public sealed record Gadget(string Command);

/// <summary>A project-shaped record that smuggles an arbitrary object.</summary>
public sealed record Carrier(object Payload) : GppfActors.Actors.Messages.IGppfMessage;
