namespace Repro.Models.Formats.PyTorch;

/// <summary>
/// Something in a checkpoint that this reader will not or cannot read. Thrown deep inside the
/// reader, where the file is not known; <see cref="PyTorchCheckpoint.Read"/> turns it into a
/// <see cref="ReproInputException"/> that names the file.
/// </summary>
sealed class CheckpointFormatException(string message) : Exception(message);
