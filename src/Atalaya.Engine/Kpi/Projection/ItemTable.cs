namespace Atalaya.Engine.Kpi.Projection;

/// <summary>Order items of every stored purchase_completed, in storage order, as parallel arrays.</summary>
internal sealed class ItemTable
{
    private int[] _event = new int[1024];
    private int[] _product = new int[1024];
    private int[] _quantity = new int[1024];
    private double[] _revenue = new double[1024];

    public int Count { get; private set; }

    public ReadOnlySpan<int> Event => _event.AsSpan(0, Count);
    public ReadOnlySpan<int> Product => _product.AsSpan(0, Count);
    public ReadOnlySpan<int> Quantity => _quantity.AsSpan(0, Count);
    /// <summary>price × quantity in the reporting currency (0 without a rate).</summary>
    public ReadOnlySpan<double> Revenue => _revenue.AsSpan(0, Count);

    internal void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        ProjectionSnapshot.WriteArray(writer, Event);
        ProjectionSnapshot.WriteArray(writer, Product);
        ProjectionSnapshot.WriteArray(writer, Quantity);
        ProjectionSnapshot.WriteArray(writer, Revenue);
    }

    internal void Read(BinaryReader reader)
    {
        Count = reader.ReadInt32();
        var capacity = ProjectionSnapshot.Room(Count, 1024);
        _event = ProjectionSnapshot.ReadArray<int>(reader, capacity);
        _product = ProjectionSnapshot.ReadArray<int>(reader, capacity);
        _quantity = ProjectionSnapshot.ReadArray<int>(reader, capacity);
        _revenue = ProjectionSnapshot.ReadArray<double>(reader, capacity);
    }

    public void Add(int eventIndex, int product, int quantity, double revenue)
    {
        if (Count == _event.Length)
        {
            var size = Count * 2;
            Array.Resize(ref _event, size);
            Array.Resize(ref _product, size);
            Array.Resize(ref _quantity, size);
            Array.Resize(ref _revenue, size);
        }
        _event[Count] = eventIndex;
        _product[Count] = product;
        _quantity[Count] = quantity;
        _revenue[Count] = double.IsNaN(revenue) ? 0 : revenue;
        Count++;
    }
}
