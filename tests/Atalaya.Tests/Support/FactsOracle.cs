using System.Globalization;
using System.Text;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Storage;

namespace Atalaya.Tests.Support;

/// <summary>
/// Checks the facts the single pass collected against <see cref="StoredEventReader"/> over the
/// stored bytes, which defines them. Each side interns into pools of its own, fed the same events
/// in the same order: equal ids then mean equal text met in the same order, so the projection's
/// dictionaries come out the same whichever way an event was applied.
/// </summary>
internal sealed class FactsOracle
{
    private readonly ProjectionPools _fromJson = new();
    private readonly ProjectionPools _fromFacts = new();
    private readonly StoredEventReader _jsonReader;
    private readonly StoredEventReader _factsReader;
    private readonly EventFacts _expected = new();
    private readonly EventFacts _actual = new();

    public FactsOracle()
    {
        _jsonReader = new StoredEventReader(_fromJson);
        _factsReader = new StoredEventReader(_fromFacts);
    }

    /// <summary>Events whose facts were complete (compared), and all events seen.</summary>
    public int Compared { get; private set; }

    public int Seen { get; private set; }

    /// <summary>Compares every event of the batch whose facts are complete; the others are read from JSON on both sides.</summary>
    public void Check(AppendBatch batch)
    {
        var events = batch.Events;
        var facts = batch.Facts;
        for (var i = 0; i < events.Length; i++)
        {
            var json = batch.Json(events[i]);
            _jsonReader.Read(json, _expected);
            ref readonly var f = ref facts[i];
            Seen++;
            if (f.Complete)
            {
                Compared++;
                _factsReader.Read(json, f, batch.Items.Slice(f.FirstItem, f.ItemCount), batch.SourceSystem, _actual);
            }
            else
            {
                _factsReader.Read(json, _actual);
            }
            var expected = Describe(_expected);
            var actual = Describe(_actual);
            Assert.True(expected == actual,
                $"Stored event: {Encoding.UTF8.GetString(json)}\nStoredEventReader: {expected}\nCollected facts:   {actual}");
        }
        Assert.Equal(PoolSizes(_fromJson), PoolSizes(_fromFacts));
    }

    private static string PoolSizes(ProjectionPools p) =>
        $"types {p.Types.Count}, dimensions {p.Dimension.Count}, stores {p.Stores.Count}, products {p.Products.Count}, users {p.Users.Count}, sessions {p.Sessions.Count}, orders {p.Orders.Count}";

    private static string Describe(EventFacts f) => string.Create(CultureInfo.InvariantCulture,
        $"ts={f.TimestampMs} type={f.Type} kind={f.Kind} custom={f.Custom} fx={f.Fx:R} nofx={f.NoFx} " +
        $"dims={f.Country},{f.Hub},{f.Zone},{f.Category},{f.Source},{f.Platform},{f.AppId} source_system={f.SourceSystem} " +
        $"store={f.Store} user={f.User} session={f.Session} order={f.Order} product={f.Product} name={f.ProductName ?? "(null)"} " +
        $"total={f.Total:R} amount={f.Amount:R} snapshot={f.HasSnapshot}:{f.SnapshotTotal:R}:{f.Commission:R}:{f.Refunded:R}:{f.Reversed:R} status={f.Status} " +
        $"priority={f.Priority} quantity={f.Quantity} " +
        $"store_row={f.StoreCountry},{f.StoreHub},{f.StoreZone},{f.StoreCategory} " +
        $"items=[{string.Join(";", f.Items.Select(i => string.Create(CultureInfo.InvariantCulture, $"{i.Product}x{i.Quantity}@{i.Price:R}")))}]");
}
