using System.Globalization;
using System.Text;

namespace GppfActors.Host.Analysis;

/// <summary>
/// CKA of every pair of layers; with two models the first <see cref="NumFirstLayers"/> rows and
/// columns are the first model's. <see cref="NumExamples"/>: the probe set's size.
/// </summary>
internal sealed record CkaResult(string Task, double[,] Values, int NumFirstLayers, int NumExamples)
{
    public int NumLayers => Values.GetLength(0);

    /// <summary>The block of rows <paramref name="rowStart"/>.. and columns <paramref name="columnStart"/>.., of the given sizes.</summary>
    public double[,] Block(int rowStart, int rows, int columnStart, int columns)
    {
        var block = new double[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                block[i, j] = Values[rowStart + i, columnStart + j];
            }
        }
        return block;
    }

    /// <summary><c>row_model,row_layer,column_model,column_layer,cka</c>, one row per pair; models <paramref name="first"/> and <paramref name="second"/>.</summary>
    public void WriteCsv(string file, string first, string second)
    {
        var text = new StringBuilder("row_model,row_layer,column_model,column_layer,cka\n");
        for (int i = 0; i < NumLayers; i++)
        {
            for (int j = 0; j < NumLayers; j++)
            {
                var (rowModel, rowLayer) = i < NumFirstLayers ? (first, i) : (second, i - NumFirstLayers);
                var (columnModel, columnLayer) = j < NumFirstLayers ? (first, j) : (second, j - NumFirstLayers);
                text.Append(CultureInfo.InvariantCulture, $"{rowModel},{rowLayer},{columnModel},{columnLayer},{Values[i, j]:0.######}\n");
            }
        }
        File.WriteAllText(file, text.ToString());
    }
}
